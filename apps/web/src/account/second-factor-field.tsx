/**
 * The two-step code field of a protected action (change of password or email, a withdrawal): show
 * it when the user has two-step verification on, or once a refusal says a code is needed
 * (`needsSecondFactor(error)` from @streambet/client/account), and send its value, cleaned with
 * `cleanCode`, as the request's `second_factor_code`.
 */
import { Field } from './field.js';

export function SecondFactorField(props: {
  readonly value: string;
  readonly onChange: (value: string) => void;
  readonly testId: string;
}) {
  return (
    <Field
      label="Two-step code"
      hint="6 digits from your authenticator app, or a recovery code"
      inputMode="text"
      autoComplete="one-time-code"
      required
      value={props.value}
      onChange={(e) => props.onChange(e.target.value)}
      data-testid={props.testId}
    />
  );
}
