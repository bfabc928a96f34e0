import { CreateLinks1764300000000 } from './migrations/1764300000000-CreateLinks';
import { CreateClicks1764400000000 } from './migrations/1764400000000-CreateClicks';
import { CreateApiKeys1764500000000 } from './migrations/1764500000000-CreateApiKeys';
import { AddVisitCounts1764600000000 } from './migrations/1764600000000-AddVisitCounts';
import { AddUniqueVisitors1764730000000 } from './migrations/1764730000000-AddUniqueVisitors';

/** Every migration, oldest first. A new migration file is added here as well. */
export const MIGRATIONS = [
  CreateLinks1764300000000,
  CreateClicks1764400000000,
  CreateApiKeys1764500000000,
  AddVisitCounts1764600000000,
  AddUniqueVisitors1764730000000,
];
