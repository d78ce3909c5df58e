import type { Logger } from '../shared/logger.ts';
import type { RedisClient } from '../shared/redis.ts';
import type { Services } from '../shared/services.ts';

/** Everything the API's handlers use: the services both processes build (src/shared/services.ts), and its log. */
export interface ApiDeps extends Services {
  /** fail-fast connection (no offline queue): requests get 503 quickly while Redis is away */
  redis: RedisClient;
  log: Logger;
}
