/**
 * The stream overlay's look (position, width, colours, background opacity), chosen here and
 * carried in the overlay's URL, so the broadcaster (OBS "Browser source") needs nothing but that
 * URL: no login, no stored setting to keep in sync. Changing the look means pasting a new URL.
 */
import { useState } from 'react';
import {
  defaultOverlayLook,
  overlayPositions,
  overlayUrl,
  overlayWidthBounds,
  type OverlayLook,
  type OverlayPosition,
} from '@streambet/client/studio';

const positionLabels: Readonly<Record<OverlayPosition, string>> = {
  'top-left': 'Top left',
  'top-right': 'Top right',
  'bottom-left': 'Bottom left',
  'bottom-right': 'Bottom right',
  top: 'Top centre',
  bottom: 'Bottom centre',
};

/** Props of {@link OverlayPanel}. */
export interface OverlayPanelProps {
  readonly origin: string;
  readonly channelId: string;
}

/** The overlay's look and its URL. */
export function OverlayPanel({ origin, channelId }: OverlayPanelProps) {
  const [look, setLook] = useState<OverlayLook>(defaultOverlayLook);
  const [copied, setCopied] = useState(false);
  const url = overlayUrl(origin, channelId, look);
  const change = (next: Partial<OverlayLook>) => {
    setLook((l) => ({ ...l, ...next }));
    setCopied(false);
  };

  return (
    <section className="panel" aria-labelledby="overlay-title" data-testid="studio-overlay">
      <h2 id="overlay-title">Stream overlay</h2>
      <p className="muted small">
        Add this URL to OBS as a Browser source: it shows the open market, live odds, the countdown
        and the result, on a transparent background.
      </p>
      <div className="studio-form-grid">
        <label>
          Position
          <select
            value={look.position}
            onChange={(e) => change({ position: e.target.value as OverlayPosition })}
            data-testid="overlay-position"
          >
            {overlayPositions.map((p) => (
              <option key={p} value={p}>
                {positionLabels[p]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Width (px)
          <input
            type="number"
            min={overlayWidthBounds.min}
            max={overlayWidthBounds.max}
            step={10}
            value={look.widthPx}
            onChange={(e) => {
              const value = Number(e.target.value);
              if (value >= overlayWidthBounds.min && value <= overlayWidthBounds.max)
                change({ widthPx: value });
            }}
            data-testid="overlay-width"
          />
        </label>
        <label>
          Accent
          <input
            type="color"
            value={look.accent}
            onChange={(e) => change({ accent: e.target.value })}
            data-testid="overlay-accent"
          />
        </label>
        <label>
          Text
          <input
            type="color"
            value={look.text}
            onChange={(e) => change({ text: e.target.value })}
          />
        </label>
        <label>
          Background
          <input
            type="color"
            value={look.background}
            onChange={(e) => change({ background: e.target.value })}
          />
        </label>
        <label>
          Background opacity ({look.backgroundOpacityPct} %)
          <input
            type="range"
            min={0}
            max={100}
            value={look.backgroundOpacityPct}
            onChange={(e) => change({ backgroundOpacityPct: Number(e.target.value) })}
          />
        </label>
      </div>
      <label>
        Overlay URL
        <input readOnly value={url} onFocus={(e) => e.target.select()} data-testid="overlay-url" />
      </label>
      <div className="row">
        <button
          type="button"
          onClick={() => {
            void navigator.clipboard
              ?.writeText(url)
              .then(() => setCopied(true))
              .catch(() => setCopied(false));
          }}
        >
          {copied ? 'Copied' : 'Copy URL'}
        </button>
        <a href={url} target="_blank" rel="noreferrer" data-testid="overlay-preview">
          Open the overlay
        </a>
      </div>
    </section>
  );
}
