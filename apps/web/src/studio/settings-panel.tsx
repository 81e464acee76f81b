/**
 * The channel's settings: the market side (pool: auto-lock when the stream ends, broadcast delay —
 * the default reach of a lock — and, read-only, the commission and the streamer's revenue share)
 * and the platform side (integration: mirroring Twitch predictions on the Twitch link, pushing
 * StreamBet markets to Twitch as predictions, and when auto-lock fires on a channel live on several
 * platforms).
 */
import { useEffect, useState, type FormEvent } from 'react';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  OfflineLockPolicy,
  type Channel,
} from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import type { ChannelSettings } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { Api } from '@streambet/client';
import { errorText } from '../hooks.js';

/** Props of {@link SettingsPanel}. */
export interface SettingsPanelProps {
  readonly api: Api;
  readonly channelId: string;
  readonly links: readonly Channel[];
  readonly onChanged: () => void;
}

function percent(bps: number): string {
  return `${(bps / 100).toFixed(bps % 100 === 0 ? 0 : 2)} %`;
}

/** Market and platform settings of one channel. */
export function SettingsPanel({ api, channelId, links, onChanged }: SettingsPanelProps) {
  const [settings, setSettings] = useState<ChannelSettings>();
  const [delay, setDelay] = useState('');
  const [autoLock, setAutoLock] = useState(false);
  const [status, setStatus] = useState<string>();
  const [failure, setFailure] = useState<string>();
  const [busy, setBusy] = useState(false);
  const twitch = links.find((l) => l.platform === Platform.TWITCH);

  useEffect(() => {
    let stale = false;
    api.pool
      .getChannelSettings({ channelId })
      .then((res) => {
        if (stale || res.settings === undefined) return;
        setSettings(res.settings);
        setDelay(String(res.settings.broadcastDelaySeconds));
        setAutoLock(res.settings.autoLockOnOffline);
      })
      .catch((e: unknown) => {
        if (!stale) setFailure(errorText(e));
      });
    return () => {
      stale = true;
    };
  }, [api, channelId]);

  async function save(event: FormEvent) {
    event.preventDefault();
    const seconds = Number(delay.trim());
    if (delay.trim() === '' || !Number.isInteger(seconds) || seconds < 0 || seconds > 60) {
      setFailure('The broadcast delay is a whole number of seconds from 0 to 60.');
      return;
    }
    setBusy(true);
    try {
      const res = await api.pool.updateChannelSettings({
        channelId,
        broadcastDelaySeconds: seconds,
        autoLockOnOffline: autoLock,
      });
      setSettings(res.settings);
      setStatus('Settings saved.');
      setFailure(undefined);
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  async function setMirror(link: Channel, on: boolean) {
    setBusy(true);
    try {
      await api.channels.updateChannelSettings({
        channelId: link.linkId || link.channelId,
        mirrorTwitchPredictions: on,
      });
      setStatus(on ? 'Twitch predictions are mirrored.' : 'Twitch predictions are not mirrored.');
      setFailure(undefined);
      onChanged();
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  async function setPlatformSide(
    change: { pushMarketsToTwitch?: boolean; offlineLockPolicy?: OfflineLockPolicy },
    done: string,
  ) {
    setBusy(true);
    try {
      await api.channels.updateChannelSettings({ channelId, ...change });
      setStatus(done);
      setFailure(undefined);
      onChanged();
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  const platformSide = links[0]?.settings;
  const pushNote = links.find((l) => l.pushNote !== '')?.pushNote;

  return (
    <section className="panel" aria-labelledby="settings-title" data-testid="studio-settings">
      <h2 id="settings-title">Settings</h2>
      {settings === undefined ? (
        <p className="muted small">Loading…</p>
      ) : (
        <form onSubmit={(e) => void save(e)} className="studio-settings">
          <label className="row">
            <input
              type="checkbox"
              checked={autoLock}
              onChange={(e) => setAutoLock(e.target.checked)}
              data-testid="settings-auto-lock"
            />
            Lock new markets when the stream ends
          </label>
          <label>
            Broadcast delay (s)
            <input
              inputMode="numeric"
              value={delay}
              onChange={(e) => setDelay(e.target.value)}
              aria-describedby="settings-delay-help"
              data-testid="settings-delay"
            />
          </label>
          <span className="muted small" id="settings-delay-help">
            How far behind reality your stream runs: a lock without a time goes back this far.
          </span>
          <dl className="studio-facts">
            <dt>Commission</dt>
            <dd data-testid="settings-commission">{percent(settings.commissionBps)}</dd>
            <dt>Your revenue share</dt>
            <dd data-testid="settings-revenue-share">
              {percent(settings.streamerRevenueShareBps)} of the commission
            </dd>
          </dl>
          <button type="submit" disabled={busy} data-testid="settings-save">
            Save settings
          </button>
        </form>
      )}
      {twitch !== undefined && (
        <label className="row">
          <input
            type="checkbox"
            checked={twitch.settings?.mirrorTwitchPredictions ?? false}
            disabled={busy}
            onChange={(e) => void setMirror(twitch, e.target.checked)}
            data-testid="settings-mirror"
          />
          Mirror my Twitch predictions as markets
        </label>
      )}
      {twitch !== undefined && (
        <label className="row">
          <input
            type="checkbox"
            checked={platformSide?.pushMarketsToTwitch ?? false}
            disabled={busy}
            onChange={(e) =>
              void setPlatformSide(
                { pushMarketsToTwitch: e.target.checked },
                e.target.checked
                  ? 'Markets you open are pushed to Twitch as predictions.'
                  : 'Markets are no longer pushed to Twitch.',
              )
            }
            data-testid="settings-push"
          />
          Push my markets to Twitch as predictions
        </label>
      )}
      {pushNote !== undefined && (
        <p className="muted small" data-testid="settings-push-note">
          Last market not pushed: {pushNote}
        </p>
      )}
      {links.length > 1 && (
        <label>
          When live on several platforms, auto-lock when
          <select
            value={platformSide?.offlineLockPolicy ?? OfflineLockPolicy.LAST}
            disabled={busy}
            onChange={(e) =>
              void setPlatformSide(
                { offlineLockPolicy: Number(e.target.value) },
                'Auto-lock policy saved.',
              )
            }
            data-testid="settings-offline-policy"
          >
            <option value={OfflineLockPolicy.LAST}>the last platform goes offline</option>
            <option value={OfflineLockPolicy.FIRST}>the first platform goes offline</option>
          </select>
        </label>
      )}
      {status !== undefined && (
        <p className="ok small" role="status" data-testid="settings-status">
          {status}
        </p>
      )}
      {failure !== undefined && (
        <p className="error small" role="alert">
          {failure}
        </p>
      )}
    </section>
  );
}
