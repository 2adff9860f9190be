import { SessionError } from '@isosession/core';
import type { IdGenerator } from '../types.js';

/** S83: the id is the claimed one, else dsnArgs.Id; with neither there is no id to use. */
export const staticIdGenerator: IdGenerator = {
  guessable: true,
  generateId(args, claimedId) {
    if (claimedId !== undefined && claimedId !== '') return claimedId;
    const configured = args.Id;
    if (typeof configured === 'string' && configured !== '') return configured;
    if (typeof configured === 'number') return String(configured);
    throw new SessionError('ID_GENERATION', 'id:static needs a claimed session id or dsnArgs.Id');
  },
};
