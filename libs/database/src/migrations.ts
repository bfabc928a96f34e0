import { CreateLinks1764300000000 } from './migrations/1764300000000-CreateLinks';

/** Every migration, oldest first. A new migration file is added here as well. */
export const MIGRATIONS = [CreateLinks1764300000000];
