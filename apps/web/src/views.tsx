/**
 * The app's screens besides the lobby and a channel's page, chosen by the `?view=<name>` URL
 * parameter so every screen has a link of its own (and the OBS overlay a URL a streamer pastes).
 * Each area owns its component; this registry only says how a view is reached. Views load on
 * demand (their own chunks), so a viewer on a phone downloads the lobby and the channel page only.
 */
import { lazy, type ComponentType } from 'react';
import type { Api, Session } from '@streambet/client';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';

const AccountView = lazy(() =>
  import('./account/account-view.js').then((m) => ({ default: m.AccountView })),
);
const VerifyEmailView = lazy(() =>
  import('./account/email-link-views.js').then((m) => ({ default: m.VerifyEmailView })),
);
const ResetPasswordView = lazy(() =>
  import('./account/email-link-views.js').then((m) => ({ default: m.ResetPasswordView })),
);
const ConfirmEmailView = lazy(() =>
  import('./account/email-link-views.js').then((m) => ({ default: m.ConfirmEmailView })),
);
const NotificationsView = lazy(() =>
  import('./notifications/notifications-view.js').then((m) => ({ default: m.NotificationsView })),
);
const OverlayView = lazy(() =>
  import('./overlay/overlay-view.js').then((m) => ({ default: m.OverlayView })),
);
const StudioView = lazy(() =>
  import('./studio/studio-view.js').then((m) => ({ default: m.StudioView })),
);
const WalletView = lazy(() =>
  import('./wallet/wallet-view.js').then((m) => ({ default: m.WalletView })),
);

/** Goes to `view` (undefined = the lobby, or the channel in `params.channel`) with `params`. */
export type Navigate = (
  view: string | undefined,
  params?: Readonly<Record<string, string>>,
) => void;

/** What every view receives from the app. */
export interface ViewProps {
  readonly api: Api;
  /** The gateway's origin (the app's own). */
  readonly origin: string;
  readonly session: Session | undefined;
  /** Bumped when something the user did or was pushed may have changed their data. */
  readonly refreshKey: number;
  /** Tells the app the user's data changed (a bet, a payment), so panels reload. */
  readonly onUserEvent: () => void;
  /** True while the realtime socket of the page is connected. */
  readonly socketLive: boolean;
  readonly navigate: Navigate;
  /** The page's URL parameters when the view opened (tokens of emailed links, a channel id). */
  readonly params: URLSearchParams;
  /**
   * Rotates the session's tokens now and reloads the user, so a role granted meanwhile (the
   * streamer role after a first channel link) takes effect without signing in again.
   */
  readonly renewSession: () => Promise<void>;
}

/** How a view is reached. */
export interface ViewEntry {
  readonly component: ComponentType<ViewProps>;
  /** Shown in the header's navigation when set (and the rules below allow it). */
  readonly navLabel?: string;
  /** Only signed-in users see the nav entry (the view itself asks guests to sign in). */
  readonly signedIn?: boolean;
  /** Only users holding this role see the nav entry (the server checks every call anyway). */
  readonly role?: Role;
  /** False renders the view alone, without header or layout (the stream overlay). */
  readonly chrome?: boolean;
}

/** Every view by its `?view=` name. */
export const views: Readonly<Record<string, ViewEntry>> = {
  wallet: { component: WalletView, navLabel: 'Wallet', signedIn: true },
  account: { component: AccountView, navLabel: 'Account', signedIn: true },
  'verify-email': { component: VerifyEmailView },
  'reset-password': { component: ResetPasswordView },
  'confirm-email': { component: ConfirmEmailView },
  studio: { component: StudioView, navLabel: 'Studio', signedIn: true, role: Role.STREAMER },
  overlay: { component: OverlayView, chrome: false },
  notifications: { component: NotificationsView },
};

/** The nav entries `session` may see, in registry order. */
export function navEntries(
  session: Session | undefined,
): ReadonlyArray<readonly [name: string, label: string]> {
  return Object.entries(views).flatMap(([name, entry]) => {
    if (entry.navLabel === undefined) return [];
    if (entry.signedIn === true && session === undefined) return [];
    if (entry.role !== undefined && !(session?.user.roles.includes(entry.role) ?? false)) return [];
    return [[name, entry.navLabel] as const];
  });
}
