import { randomUUID } from 'node:crypto';
import type { IdGenerator } from '../types.js';

/** RFC 9562 version 4 UUIDs (122 random bits). */
export const uuidIdGenerator: IdGenerator = {
  generateId() {
    return randomUUID();
  },
  isValidId(id) {
    return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id);
  },
};
