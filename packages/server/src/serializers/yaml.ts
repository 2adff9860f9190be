import { parse, stringify } from 'yaml';
import type { ScalarTag, Tags } from 'yaml';
import type { RawSession, Serializer } from '../types.js';
import { toText } from './toText.js';

// Perl's YAML::Syck (what CGI::Session's yaml serializer runs) types nothing implicitly: it reads
// `true`, `false` and `null` as the strings "true", "false", "null" (all true in Perl). So null
// is written `~` (undef to Syck, null to YAML 1.2), and booleans as `!!bool 1` / `!!bool ''`:
// Syck ignores the tag and reads Perl's own 1 and '', and here the tag reads them back as booleans.
const perlBool: ScalarTag = {
  identify: (value) => typeof value === 'boolean',
  default: false,
  tag: 'tag:yaml.org,2002:bool',
  resolve: (text) => text === '1' || /^(?:true|True|TRUE)$/.test(text),
  stringify: ({ value }) => (value ? '1' : "''"),
};
const withPerlBool = (tags: Tags): Tags => [perlBool, ...tags];

/** YAML 1.2 core schema: plain data only, no tags that construct objects or run code. */
export const yamlSerializer: Serializer = {
  freeze(data) {
    return stringify(data, { schema: 'core', nullStr: '~', customTags: withPerlBool });
  },
  thaw(raw: RawSession) {
    // An unknown tag (`!!js/function`, `!ruby/object`) reads as the plain value it tags; the
    // yaml library would also print a process warning for each one, which stored data must
    // not be able to do (logLevel 'error').
    return parse(toText(raw), { schema: 'core', maxAliasCount: 100, merge: false, customTags: withPerlBool, logLevel: 'error' }) as object;
  },
};
