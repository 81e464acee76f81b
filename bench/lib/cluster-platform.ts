/**
 * The platform in its cluster shape for benches: every service and the gateway in its own process
 * on PostgreSQL (one database per service), the Redis Streams bus and the Redis cache, with the
 * platform's V8 flags. It lives in @streambet/testkit/cluster (the chaos tests kill and restart its
 * processes); benches import it from here.
 *
 * Why benches need it: the embedded default runs all eight services and the gateway on ONE event
 * loop, so on a two-core machine every request queues behind every other service's work (consumers,
 * outbox relays, garbage collection of one shared heap) and the JavaScript never uses the second
 * core. Latency targets are about the deployment, so they are judged on this shape.
 */
export {
  startClusterPlatform,
  type ClusterPlatform,
  type ClusterPlatformOptions,
} from '@streambet/testkit/cluster';
