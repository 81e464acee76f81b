/** The stream overlay for OBS (its area's helper replaces this first version). */
import type { ViewProps } from '../views.js';

/** `?view=overlay&channel=<id>`: rendered alone, on a transparent page. */
export function OverlayView(props: ViewProps) {
  return (
    <main className="overlay" aria-label="Stream overlay">
      <h1 className="visually-hidden">Overlay of channel {props.params.get('channel') ?? ''}</h1>
    </main>
  );
}
