import { parse, stringify } from 'yaml';
import type { RawSession, Serializer } from '../types.js';
import { toText } from './toText.js';

/** YAML 1.2 core schema: plain data only, no tags that construct objects or run code. */
export const yamlSerializer: Serializer = {
  freeze(data) {
    return stringify(data, { schema: 'core' });
  },
  thaw(raw: RawSession) {
    return parse(toText(raw), { schema: 'core', maxAliasCount: 100, merge: false }) as object;
  },
};
