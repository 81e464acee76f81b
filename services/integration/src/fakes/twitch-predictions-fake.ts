/**
 * The Twitch fake's Helix predictions endpoints, with Twitch's documented request and response
 * shapes and rules: `POST /helix/predictions` (body broadcaster_id, title ≤ 45, 2–10 outcomes of
 * title ≤ 25, prediction_window 30–1800 s; the user token must belong to the broadcaster and carry
 * `channel:manage:predictions`; one ACTIVE or LOCKED prediction per channel, else 400) and
 * `PATCH /helix/predictions` (body broadcaster_id, id, status RESOLVED (winning_outcome_id),
 * CANCELED or LOCKED). Answers `{data: [prediction]}`.
 */
import { randomUUID } from 'node:crypto';

/** A prediction as Twitch holds it. */
export interface FakePrediction {
  id: string;
  broadcaster_id: string;
  title: string;
  outcomes: {
    id: string;
    title: string;
    color: 'BLUE' | 'PINK';
    users: number;
    channel_points: number;
  }[];
  prediction_window: number;
  status: 'ACTIVE' | 'LOCKED' | 'RESOLVED' | 'CANCELED';
  winning_outcome_id: string | null;
  created_at: string;
  ended_at: string | null;
  locked_at: string | null;
}

type Json = Record<string, unknown>;

/** Handles a predictions request; `send` answers it. */
export function handlePredictions(
  predictions: Map<string, FakePrediction>,
  method: string,
  caller: { account: { id: string } | undefined; scopes: string[] },
  body: Json,
  send: (status: number, body: unknown) => void,
): void {
  const bad = (message: string) => send(400, { error: 'Bad Request', status: 400, message });
  if (caller.account === undefined || !caller.scopes.includes('channel:manage:predictions')) {
    return send(401, {
      error: 'Unauthorized',
      status: 401,
      message: 'Missing scope: channel:manage:predictions',
    });
  }
  const broadcaster = typeof body.broadcaster_id === 'string' ? body.broadcaster_id : '';
  if (broadcaster !== caller.account.id) {
    return send(403, {
      error: 'Forbidden',
      status: 403,
      message: 'The broadcaster_id must match the user ID in the user access token',
    });
  }
  if (method === 'POST') {
    const title = typeof body.title === 'string' ? body.title : '';
    const outcomes = Array.isArray(body.outcomes) ? (body.outcomes as Json[]) : [];
    const window = Number(body.prediction_window);
    if (title === '' || title.length > 45)
      return bad('The title may contain a maximum of 45 characters');
    if (outcomes.length < 2 || outcomes.length > 10)
      return bad('Prediction must have 2-10 outcomes');
    if (
      outcomes.some((o) => typeof o.title !== 'string' || o.title === '' || o.title.length > 25)
    ) {
      return bad('The outcome title may contain a maximum of 25 characters');
    }
    if (!Number.isInteger(window) || window < 30 || window > 1800) {
      return bad('prediction_window must be between 30 and 1800');
    }
    if (
      [...predictions.values()].some(
        (p) => p.broadcaster_id === broadcaster && (p.status === 'ACTIVE' || p.status === 'LOCKED'),
      )
    ) {
      return bad('Channel already has an active prediction');
    }
    const prediction: FakePrediction = {
      id: randomUUID(),
      broadcaster_id: broadcaster,
      title,
      outcomes: outcomes.map((o, i) => ({
        id: randomUUID(),
        title: String(o.title),
        color: i === 0 ? 'BLUE' : 'PINK',
        users: 0,
        channel_points: 0,
      })),
      prediction_window: window,
      status: 'ACTIVE',
      winning_outcome_id: null,
      created_at: new Date().toISOString(),
      ended_at: null,
      locked_at: null,
    };
    predictions.set(prediction.id, prediction);
    return send(200, { data: [prediction] });
  }
  if (method === 'PATCH') {
    const prediction = predictions.get(typeof body.id === 'string' ? body.id : '');
    if (prediction === undefined || prediction.broadcaster_id !== broadcaster) {
      return bad('The prediction does not exist');
    }
    const status = body.status;
    if (prediction.status === 'RESOLVED' || prediction.status === 'CANCELED') {
      return bad('The prediction has already ended');
    }
    if (status === 'LOCKED') {
      if (prediction.status !== 'ACTIVE') return bad('Only an ACTIVE prediction can be locked');
      prediction.status = 'LOCKED';
      prediction.locked_at = new Date().toISOString();
    } else if (status === 'RESOLVED') {
      const winner = typeof body.winning_outcome_id === 'string' ? body.winning_outcome_id : '';
      if (!prediction.outcomes.some((o) => o.id === winner)) {
        return bad('winning_outcome_id must be one of the prediction’s outcomes');
      }
      prediction.status = 'RESOLVED';
      prediction.winning_outcome_id = winner;
      prediction.ended_at = new Date().toISOString();
    } else if (status === 'CANCELED') {
      prediction.status = 'CANCELED';
      prediction.ended_at = new Date().toISOString();
    } else {
      return bad('status must be RESOLVED, CANCELED or LOCKED');
    }
    return send(200, { data: [prediction] });
  }
  return send(405, { error: 'Method Not Allowed', status: 405, message: '' });
}
