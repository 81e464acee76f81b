import { describeConfig, type ConfigSpec } from '@streambet/platform/config/load-config';
import { analyticsConfigSpec } from '@streambet/analytics/config';
import { betEngineConfigSpec } from '@streambet/bet-engine/config';
import { integrationConfigSpec } from '@streambet/integration/config';
import { paymentConfigSpec } from '@streambet/payment/config';
import { poolConfigSpec } from '@streambet/pool/config';
import { realtimeConfigSpec } from '@streambet/realtime/config';
import { settlementConfigSpec } from '@streambet/settlement/config';
import { userConfigSpec } from '@streambet/user/config';
import { gatewayConfigSpec } from '@streambet/gateway/config';

/** Every deployable's config spec, by deployable name. */
const configSpecs: Readonly<Record<string, ConfigSpec>> = {
  gateway: gatewayConfigSpec,
  user: userConfigSpec,
  'bet-engine': betEngineConfigSpec,
  pool: poolConfigSpec,
  settlement: settlementConfigSpec,
  payment: paymentConfigSpec,
  integration: integrationConfigSpec,
  realtime: realtimeConfigSpec,
  analytics: analyticsConfigSpec,
};

/**
 * The README's table of environment variables: one row per variable, with the deployables that
 * read it. Generated from the specs the processes actually load, so it cannot drift from them
 * (a test compares it with the README).
 */
export function environmentTable(): string {
  const rows = new Map<
    string,
    { default: string; defaults: Set<string>; description: string; readBy: string[] }
  >();
  for (const [deployable, spec] of Object.entries(configSpecs)) {
    for (const row of describeConfig(spec)) {
      const existing = rows.get(row.name);
      if (existing === undefined) {
        rows.set(row.name, {
          default: row.default,
          defaults: new Set([row.default]),
          description: row.description,
          readBy: [deployable],
        });
      } else {
        existing.readBy.push(deployable);
        existing.defaults.add(row.default);
      }
    }
  }
  const everyone = Object.keys(configSpecs).length;
  const services = everyone - 1;
  const escape = (text: string): string => text.replaceAll('|', '\\|');
  const lines = [...rows].map(([name, row]) => {
    const readBy =
      row.readBy.length === everyone
        ? 'all'
        : row.readBy.length === services && !row.readBy.includes('gateway')
          ? 'all services'
          : row.readBy.join(', ');
    const shown =
      row.defaults.size <= 1
        ? row.default === ''
          ? '(empty)'
          : `\`${escape(row.default)}\``
        : name === 'PORT'
          ? 'per deployable (ports table above)'
          : [...row.defaults].map((value) => `\`${escape(value)}\``).join(' or ') +
            ' (per deployable, see meaning)';
    return `| \`${name}\` | ${shown} | ${readBy} | ${escape(row.description)} |`;
  });
  return ['| variable | default | read by | meaning |', '|---|---|---|---|', ...lines].join('\n');
}
