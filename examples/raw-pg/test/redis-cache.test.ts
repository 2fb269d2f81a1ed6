// Under PGWORK_DISABLE=1 too: that switch shares one database between the workers, not their
// services, so each worker still has its own Redis and this file passes in both modes (the shared
// suite's database tests are the ones that show contamination unisolated).
import { describeOwnRedis } from './own-redis';

describeOwnRedis('cache');
