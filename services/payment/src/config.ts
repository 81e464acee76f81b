import {
  defineConfig,
  loadConfig,
  type Config,
  type Environment,
} from '@streambet/platform/config/load-config';
import {
  checkPlatformConfig,
  platformConfigSpec,
} from '@streambet/platform/runtime/platform-config';

/**
 * Every environment variable the payment service reads; this file is the only reader of the
 * environment in the service (style.md). The README's variable table is generated from it.
 */
export const paymentConfigSpec = defineConfig({
  ...platformConfigSpec('payment', ['user']),
});

/** The payment service's configuration, validated and frozen. */
export type PaymentConfig = Config<typeof paymentConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadPaymentConfig(env: Environment = process.env): PaymentConfig {
  return checkPlatformConfig(loadConfig(paymentConfigSpec, env));
}
