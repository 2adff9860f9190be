import { registerDriver } from '../index.js';

// A --plugin for the CLI tests: `driver:synthetic` holds `Count` sessions made up on the fly
// (ids s0000001…, created and last seen `AgeDays` ago), so a run over thousands of sessions
// costs no writes. Read-only: removals are refused.
registerDriver('synthetic', (args) => {
  const count = Number(args.Count ?? 0);
  const atime = Math.floor(Date.now() / 1000) - Number(args.AgeDays ?? 0) * 86_400;
  const idOf = (index: number) => `s${String(index).padStart(7, '0')}`;
  return {
    async retrieve(id) {
      const index = Number(id.slice(1));
      if (!/^s\d{7}$/.test(id) || index >= count) return null;
      return JSON.stringify({ _SESSION_ID: id, _SESSION_CTIME: atime, _SESSION_ATIME: atime, n: index });
    },
    async store() {
      throw new Error('synthetic store is read-only');
    },
    async remove() {
      throw new Error('synthetic store is read-only');
    },
    async traverse(visit) {
      for (let index = 0; index < count; index++) await visit(idOf(index));
    },
  };
});
