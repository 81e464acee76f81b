/**
 * `@streambet/client`: what a StreamBet viewer app (web or React Native) needs besides its
 * screens — the Connect clients of the public APIs and the signed-in session. The socket is in
 * `@streambet/client/realtime`, the view helpers in `@streambet/client/view`.
 */
export * from './api.js';
export * from './session.js';
