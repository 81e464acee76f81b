import { cacheTargets } from '@streambet/testkit/cache';
import { describeCacheContract } from '@streambet/testkit/cache-contract';

// Memory always; Redis with TEST_REDIS_URL (skipped otherwise, with the reason in the title).
for (const target of cacheTargets()) {
  describeCacheContract(target.name, () => target.create(), { skipReason: target.skipReason });
}
