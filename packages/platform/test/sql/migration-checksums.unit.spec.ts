import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadSqlMigrations } from '@streambet/platform/sql/load-migrations';
import { checksumOf } from '@streambet/platform/sql/migrate';

/**
 * The checksum of every migration as databases stored it when they applied it (sha256 of the text,
 * `checksumOf`, what migrate() compares at every start), per migrations folder of the repository.
 *
 * Migrations are history: a row here never changes. Adding a migration adds its row; a failure on
 * an existing row means a frozen `.sql` file was edited, which every database that already ran it
 * would refuse at start. Restore the file and put the change in a new migration.
 */
const PINNED: Record<string, Record<string, string>> = {
  'packages/platform/src/outbox/migrations': {
    platform_0001_outbox: '50d2e32160ef28dc0118c9d4c14ba431576cc29299465112a5e4021b3fff4548',
    platform_0002_inbox: '2c9e6f855d3389e2c9d215c40e8b946ef105cef52ff2d60c80e0f65a2bf7fe8d',
  },
  'services/analytics/src/clickhouse/migrations': {
    '0001_warehouse': '70a62beea630126c0c0d2cf1bf674b7c1e1a77abd8b939533f578357c95c90a8',
  },
  'services/analytics/src/migrations': {
    '0001_analytics_warehouse': '173cb603041f3938d15234752bed849480724d223116fae347a38fe1203c1cba',
    '0002_audit_log': 'acb8d270825bbc35ef22ccb4dc94dab79618da6171ab5741732caeb5c9f6779f',
    '0003_fraud': '9ffa3b19d26fa62bc0df3c8d7ec2267233ec65b86620ac25f7873535d0b7550a',
  },
  'services/bet-engine/src/migrations': {
    '0001_bet_engine_pool': '7e823155bd0a86d539dfe5192361241320827432c35cc02725bc53d9764aa35b',
    '0010_market_resolutions': '992f14db500a2523d8eccfc3620852dd55937603e8d78216690a0fca8604b1be',
    '0011_pool_bet_payout_bigint':
      '187aebc63b83688b9905cb6e7e49ccae0019cff64cc402fdee1fa0028f36e99e',
    '0020_user_outcome_stakes': '3b282fd892c0fe91f336ab67d8e64666f2e58ad4411da7400c1ccafbc28cbf42',
    '0030_exchange': 'f0e8df7f5667a5c52d1e47afbdeb5f17aa9b3256becc7d0148f3a4a84759c996',
  },
  'services/integration/src/migrations': {
    '0001_integration_channels': '5d27e40a8eea3656a9499baf4c8240bc87b2ae0a7574738cb277a1b43ff9605e',
    '0002_streambet_channels': 'ce9fafb09e490a6d858890138221ab0dec560f51b6b37c23be6c08ff1179a960',
    '0003_youtube_polls': '1a671bdaab5c2852d270df955292e07d2e5eec4fb26b1ef8504087acde05f1f8',
  },
  'services/payment/src/migrations': {
    '0001_payments': '7513f49925881cb4aeff5eb927052be4650eb52a23a8c1caf575032a1a356e01',
    '0002_reconciliation_reports':
      '74989713737dde1ff328d91a08a3b9cb9d32ed88200140c0e2dae98baf42ba52',
  },
  'services/pool/src/migrations': {
    '0001_pool_markets': '30042b490827f1de4c90d08449755f08d17db4b9e1b777dd86c8967edea5ab84',
    '0002_pool_projections': 'ab47c3e413ff1b6dce6ab1b8e63c8878e1260b0a9b7cd99278778d51a2364b0f',
    '0010_pool_market_templates':
      '866a6ca0cb73448737c230ffaa8d89e99249544e65505131ce7ef1299815a1f4',
  },
  'services/realtime/src/migrations': {
    '0001_realtime_chat': '4b0a8a04cb198db6b75376d9683406fcc79a09576a7f05c2c240a69cf913f5ee',
  },
  'services/settlement/src/migrations': {
    '0001_settlements': 'f83e0ddefae7cf78eece7064de40f1988c948e91996322b04cc507db28544653',
    '0002_settlement_lease_token':
      'd464cce746b3c1d05432bfcd674d94012244f055cffe1ca0bcb77193a963226c',
    '0003_settlement_market_resolution':
      'd1af2caff498bfe01a7c2e47417af49302720da542e3168c9ea202e201e715a1',
    '0004_settlement_reversal_round':
      'd6d8f625856b9d42beb620d67d6c678a176f137c9ce3a16c7aaf5182c9f14e6d',
    '0005_payouts_paid_partial_indexes':
      'e8dc2e3cf609af6f976891f957f0512add408ef3298ad70d4485db55734bbe8d',
    '0006_payouts_paid_at_from_run':
      'ed7f3f9af947dee296ad92146790f182e28e29273fe5a559aa84dbb806d339f2',
  },
  'services/user/src/identity/migrations': {
    '0001_identity_users_sessions':
      'dfc40a1905c1b8c458e43e5266431762b5f176f92e50f1bf2f663229ddd1210b',
    '0002_identity_kyc': '43c13292874a7a612c1729dc45a44a3066e552c3af5422fa242dbbdcf5aa9d87',
    '0003_identity_limits': 'fb493e6120d0a7dc803b0938d1bc424f6eab4eeeaf4dbc43ba1bde685617671b',
    '0004_identity_login_failures':
      'e5cfa36fce492a75bc371d4b80b2d2e2cc0c9b7623caa5903fc01fa3397e4fc0',
    '0005_identity_login_failures_by_address':
      '9bb67be38fd2390753094bfed2b2c7fcae5957222e117d9ff65d9891234a7e78',
    '0010_identity_mail_tokens_sessions':
      'a4b63a9d212fae297c48278c5d1c5162c1785e220a13639f1064dbe11f9d4bdf',
    '0020_identity_two_step_email_change':
      'ebd8ec1a278e49a5f2e68fbe9abab1d48b7a7faeea3cc2272e3922838a30db82',
    '0030_identity_session_place':
      'b1b8558b2ca2a877262d90c5ca6738a4bb7a803ba355599bb64d4e4eb161219d',
    '0050_notifications': '89d9be0a2f363085a43630690e554fa1e566e1b0396b8160f5a39d3ebbb9c299',
  },
  'services/user/src/ledger/migrations': {
    '0100_ledger_tables': 'b5b7cb52baad4cc5a51a3182a084c089b953935110c0ca0e3dd4d5e8c38415e0',
    '0101_ledger_functions': '5b914b690cfa0d8ea5664db179b8fb516685d7a7965034f8b22ede55a190b0a0',
    '0102_ledger_one_statement_commits':
      'fc1515643889cc0831d224bcc5f1fee6c551c55146f0ad155dfcbc55dd5ad7fb',
    '0103_ledger_market_holds': 'a1bdf438481f19df75d8399ae3f3560733d3f56fa577ce41d8efebc040b7b37a',
    '0104_ledger_resolve_market_holds':
      '5afedae47abc533be5f7cc808ad53d8abecae4b744a9959a2fd7644f6de6d3ac',
    '0105_ledger_commit_batch_headroom':
      '81cbddbb64b015576052e35f3e744f33e92733a3b573062584437891aee7a278',
    '0106_ledger_history_hash_keys':
      'b810b05d5d324dcfe0493b10b0df763d5cbcb29656ba59206a300341e06b8322',
    '0107_ledger_commit_batch_system_accounts_last':
      '323b57a4868cfab4e25ad20223322c24f35226cd817057aba90a72928b16c63a',
    '0108_ledger_bulk_fingerprints_on_demand':
      '18f537e59ae533028eb5ebdc7246258663a33cb592130f035e7ef06ca9b16e4a',
    '0110_ledger_market_resolution':
      '792f2a4d841501f0bd6a02f80a2ddedca8f792cde7d54b0afec2d35b0dc3b2c4',
    '0111_ledger_market_settlement_plans':
      'e872e00f856b174bbaa48aac3d8fdcbecd7d5496c16126f86b3693d1eccd9ade',
    '0112_ledger_market_bookkeeping_plans':
      'fb2d023c8b18f9e698b19ed6c95d797b7ddb6b5743fbcda5fc8c4bd99e23da2a',
    '0113_ledger_stake_holds_only_are_the_markets':
      '3a31427d7c2a8568fb3f6ba527187e43f96bee9bb5a53ec079fc281c12276862',
  },
};

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** Every `migrations` folder in the `src` of a package or a service, relative to the repository. */
function migrationFolders(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === 'node_modules') continue;
      const child = path.join(dir, entry.name);
      if (entry.name === 'migrations')
        found.push(path.relative(repoRoot, child).split(path.sep).join('/'));
      else walk(child);
    }
  };
  for (const group of ['packages', 'services']) {
    for (const entry of fs.readdirSync(path.join(repoRoot, group), { withFileTypes: true })) {
      const src = path.join(repoRoot, group, entry.name, 'src');
      if (entry.isDirectory() && fs.existsSync(src)) walk(src);
    }
  }
  return found.sort();
}

describe('migrations are history', () => {
  it('finds every migrations folder of the repository, and only those pinned here', () => {
    expect(migrationFolders()).toEqual(Object.keys(PINNED).sort());
  });

  it.each(Object.keys(PINNED))(
    '%s: every migration keeps the checksum it was applied with',
    (folder) => {
      const migrations = loadSqlMigrations(pathToFileURL(path.join(repoRoot, folder, '/')));

      const checksums = Object.fromEntries(migrations.map((m) => [m.id, checksumOf(m.sql)]));

      expect(checksums).toEqual(PINNED[folder]);
    },
  );
});
