/**
 * `@streambet/client/events`: the socket protocol's names and payload types and the decoding of
 * pushed events, without the socket.io client itself (for apps that bring their own socket).
 */
export * from './realtime-events.js';
export * from './socket-protocol.js';
