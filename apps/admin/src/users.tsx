/**
 * Users: search by email, name or id, the KYC review queue, and one user's profile, wallet,
 * ledger history, limits, bets and KYC cases; review a case (approve / reject with a reason),
 * freeze / unfreeze, grant / revoke the admin and streamer roles. Every change asks for a reason,
 * which the user service keeps with the change in the audit log.
 */
import { useCallback, useState } from 'react';
import { useLoad } from './hooks.js';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { BetStatus, type Bet } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  AccountStatus,
  KycStatus,
  LimitPeriod,
  type AmountLimit,
  type KycCase,
  type User,
  type ResponsibleGamblingLimits,
} from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import {
  KycDecision,
  type WalletBalance,
  type WalletTransaction,
} from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { TransferCode } from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { ActionForm, useActionResult } from './action.js';
import type { PageProps } from './app.js';
import { enumName, errorText, money, routeHref, when } from './format.js';

/** The limits that are set (an amount above zero), e.g. `deposit 50.00 BRL per day`. */
function limitTexts(kind: string, limits: readonly AmountLimit[]): string[] {
  return limits
    .filter((l) => (l.amount?.amountMinor ?? 0n) > 0n)
    .map(
      (l) =>
        `${kind} ${money(l.amount!.amountMinor, l.amount!.currency)} per ${enumName(LimitPeriod, l.period)}`,
    );
}

const roleNames = (roles: readonly Role[]) => roles.map((r) => enumName(Role, r)).join(', ');

export function UsersPage({ api, route, adminUserId }: PageProps) {
  const selected = route.params.get('id') ?? '';
  const [query, setQuery] = useState('');
  const [users, setUsers] = useState<User[]>([]);
  const [queue, setQueue] = useState<KycCase[]>([]);
  const [error, setError] = useState<string>();

  const search = useCallback(async () => {
    try {
      const [found, pending] = await Promise.all([
        api.users.listUsers({ query: query.trim(), page: { pageSize: 50 } }),
        api.users.listKycCases({ status: KycStatus.PENDING_REVIEW, page: { pageSize: 20 } }),
      ]);
      setUsers(found.users);
      setQueue(pending.cases);
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  }, [api, query]);
  useLoad(search);

  return (
    <div className="split">
      <section aria-labelledby="user-search-title">
        <h2 id="user-search-title">Search</h2>
        <form
          className="row wrap filters"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            void search();
          }}
        >
          <label htmlFor="user-query">
            Email, name or id
            <input
              id="user-query"
              value={query}
              onChange={(e) => setQuery(e.target.value)}
              data-testid="user-query"
            />
          </label>
          <button type="submit" data-testid="user-search">
            Search
          </button>
        </form>
        {error !== undefined && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <ul className="list" data-testid="user-list">
          {users.map((u) => (
            <li key={u.userId}>
              <a
                href={routeHref('users', { id: u.userId })}
                aria-current={u.userId === selected ? 'true' : undefined}
                data-testid={`user-${u.displayName}`}
              >
                <strong>{u.displayName}</strong>
                <span className="muted small">
                  {' '}
                  {u.email} · {roleNames(u.roles)}
                  {u.status === AccountStatus.FROZEN && ' · frozen'}
                </span>
              </a>
            </li>
          ))}
          {users.length === 0 && <li className="muted">No users match.</li>}
        </ul>
        <h2>KYC review queue</h2>
        <ul className="list" data-testid="kyc-queue">
          {queue.map((c) => (
            <li key={c.kycCaseId}>
              <a href={routeHref('users', { id: c.userId })}>
                {c.legalName} <span className="muted small">submitted {when(c.submittedAtMs)}</span>
              </a>
            </li>
          ))}
          {queue.length === 0 && <li className="muted">No case waits for review.</li>}
        </ul>
      </section>
      {selected !== '' && (
        <UserDetail key={selected} api={api} userId={selected} adminUserId={adminUserId} />
      )}
    </div>
  );
}

function UserDetail(props: { api: PageProps['api']; userId: string; adminUserId: string }) {
  const { api, userId } = props;
  const [user, setUser] = useState<User>();
  const [balances, setBalances] = useState<WalletBalance[]>([]);
  const [transactions, setTransactions] = useState<WalletTransaction[]>([]);
  const [limits, setLimits] = useState<ResponsibleGamblingLimits>();
  const [bets, setBets] = useState<Bet[]>([]);
  const [cases, setCases] = useState<KycCase[]>([]);
  const [error, setError] = useState<string>();
  const [resultLine, report] = useActionResult();

  const load = useCallback(async () => {
    try {
      const [profile, wallet, history, lim, myBets, kyc] = await Promise.all([
        api.users.getProfile({ userId }),
        api.users.getWallet({ userId }),
        api.users.listTransactions({ userId, page: { pageSize: 20 } }),
        api.users.getLimits({ userId }),
        api.bets.listMyBets({ userId, page: { pageSize: 20 } }),
        api.users.listKycCases({ userId, page: { pageSize: 10 } }),
      ]);
      setUser(profile.user);
      setBalances(wallet.balances);
      setTransactions(history.transactions);
      setLimits(lim.limits);
      setBets(myBets.bets);
      setCases(kyc.cases);
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  }, [api, userId]);
  useLoad(load);

  if (user === undefined) {
    return (
      <section className="panel">{error ?? <p className="muted">Loading the user…</p>}</section>
    );
  }
  const done = async (text: string) => {
    await load();
    return text;
  };
  const frozen = user.status === AccountStatus.FROZEN;
  const roleAction = (role: Role.ADMIN | Role.STREAMER) => {
    const held = user.roles.includes(role);
    const name = enumName(Role, role);
    return (
      <ActionForm
        onResult={report}
        key={role}
        label={`${held ? 'Revoke' : 'Grant'} ${name}`}
        testId={`${held ? 'revoke' : 'grant'}-${name}`}
        destructive={held}
        disabled={held && role === Role.ADMIN && userId === props.adminUserId}
        run={async (reason) => {
          const res = await api.users.setUserRole({ userId, role, granted: !held, reason });
          return done(
            res.changed
              ? `Roles now: ${roleNames(res.roles)} (from the user's next sign-in)`
              : 'Nothing changed',
          );
        }}
      />
    );
  };

  return (
    <section className="panel" aria-labelledby="user-title" data-testid="user-detail">
      <h2 id="user-title">{user.displayName}</h2>
      {error !== undefined && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <dl className="facts">
        <dt>Id</dt>
        <dd>{user.userId}</dd>
        <dt>Email</dt>
        <dd>
          {user.email} {user.emailVerified ? '(verified)' : '(not verified)'}
        </dd>
        <dt>Roles</dt>
        <dd data-testid="user-roles">{roleNames(user.roles)}</dd>
        <dt>Status</dt>
        <dd data-testid="user-status">
          {enumName(AccountStatus, user.status)}
          {user.frozenReason && ` — ${user.frozenReason}`}
        </dd>
        <dt>KYC</dt>
        <dd>{enumName(KycStatus, user.kycStatus)}</dd>
        <dt>Registered</dt>
        <dd>{when(user.createdAtMs)}</dd>
        <dt>Wallet</dt>
        <dd data-testid="user-wallet">
          {balances
            .map(
              (b) =>
                `${money(b.availableMinor, b.currency)} (held ${money(b.pendingMinor, b.currency)})`,
            )
            .join(' · ')}
        </dd>
        <dt>Limits</dt>
        <dd>
          {limits === undefined
            ? '—'
            : [
                ...limitTexts('deposit', limits.depositLimits),
                ...limitTexts('loss', limits.lossLimits),
                limits.coolOffUntilMs > 0n ? `cool-off until ${when(limits.coolOffUntilMs)}` : '',
                limits.selfExclusion !== undefined && limits.selfExclusion.untilMs > 0n
                  ? `self-excluded until ${when(limits.selfExclusion.untilMs)}`
                  : '',
              ]
                .filter((s) => s !== '')
                .join(' · ') || 'none set'}
        </dd>
      </dl>
      {resultLine}
      <div className="actions">
        {frozen ? (
          <ActionForm
            onResult={report}
            label="Unfreeze"
            testId="unfreeze"
            run={async (reason) => {
              await api.users.unfreezeAccount({ userId, reason });
              return done('Unfrozen');
            }}
          />
        ) : (
          <ActionForm
            onResult={report}
            label="Freeze"
            testId="freeze"
            destructive
            reasonHint="e.g. confirmed fraud flag"
            run={async (reason) => {
              await api.users.freezeAccount({ userId, reason });
              return done('Frozen: no bets, deposits or withdrawals until unfrozen');
            }}
          />
        )}
        {roleAction(Role.STREAMER)}
        {roleAction(Role.ADMIN)}
        <ActionForm
          onResult={report}
          label="Sign out everywhere"
          testId="revoke-sessions"
          destructive
          reasonHint="e.g. after revoking a role: takes effect at once"
          run={async (reason) => {
            const res = await api.users.revokeSessions({ userId, reason });
            return `${res.revokedSessions} sessions revoked (access tokens expire within minutes)`;
          }}
        />
      </div>
      {cases.length > 0 && (
        <>
          <h3>KYC cases</h3>
          {cases.map((c) => (
            <div key={c.kycCaseId} className="case" data-testid={`kyc-${c.kycCaseId}`}>
              <p>
                {c.legalName} · document {c.documentNumber} ({c.documentCountry}) ·{' '}
                {enumName(KycStatus, c.status)}
                {c.reviewReason && ` — ${c.reviewReason}`}
              </p>
              {c.status === KycStatus.PENDING_REVIEW && (
                <div className="actions">
                  <ActionForm
                    onResult={report}
                    label="Approve"
                    testId="kyc-approve"
                    run={async (reason) => {
                      await api.users.reviewKyc({
                        kycCaseId: c.kycCaseId,
                        decision: KycDecision.APPROVE,
                        reason,
                      });
                      return done('Approved');
                    }}
                  />
                  <ActionForm
                    onResult={report}
                    label="Reject"
                    testId="kyc-reject"
                    destructive
                    run={async (reason) => {
                      await api.users.reviewKyc({
                        kycCaseId: c.kycCaseId,
                        decision: KycDecision.REJECT,
                        reason,
                      });
                      return done('Rejected');
                    }}
                  />
                </div>
              )}
            </div>
          ))}
        </>
      )}
      <table>
        <caption>Latest bets</caption>
        <thead>
          <tr>
            <th scope="col">Market</th>
            <th scope="col">Outcome</th>
            <th scope="col">Stake</th>
            <th scope="col">Status</th>
            <th scope="col">Placed</th>
          </tr>
        </thead>
        <tbody>
          {bets.map((b) => (
            <tr key={b.betId}>
              <td>
                <a href={routeHref('markets', { id: b.marketId })}>{b.marketTitle}</a>
              </td>
              <td>{b.outcomeTitle}</td>
              <td>{money(b.stakeMinor, b.currency)}</td>
              <td>{enumName(BetStatus, b.status)}</td>
              <td>{when(b.placedAtMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table>
        <caption>Ledger history (latest 20)</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">What</th>
            <th scope="col">Amount</th>
            <th scope="col">Transfer</th>
          </tr>
        </thead>
        <tbody>
          {transactions.map((t) => (
            <tr key={`${t.transfer?.transferId}-${t.signedAmountMinor}`}>
              <td>{when(t.transfer?.committedAtMs ?? 0n)}</td>
              <td>{enumName(TransferCode, t.transfer?.code ?? 0)}</td>
              <td>{money(t.signedAmountMinor, t.transfer?.currency ?? '')}</td>
              <td className="mono small">{t.transfer?.transferId}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
