import { createHash } from 'node:crypto';

const WORDS = 4; // 128 bits per id

/**
 * The ids a walk has visited, for stores whose walk may yield an id twice (Redis SCAN).
 * Each id is kept as its 128-bit MD5 in one flat typed array (open addressing), not as a
 * string in a Set: 16–48 bytes per id instead of ~70–200, so a walk over a million sessions
 * holds ~32 MB, not ~200. Two different ids sharing an MD5 (which would make the second look
 * visited) has a probability around 10⁻²⁷ for a million ids; MD5 here is a fingerprint, not a
 * defence against anyone choosing ids (ids are random or hashed).
 */
export class VisitedIds {
  #slots: Uint32Array;
  #mask: number;
  #size = 0;

  constructor(initialSlots = 1024) {
    const slots = 2 ** Math.ceil(Math.log2(Math.max(16, initialSlots)));
    this.#slots = new Uint32Array(slots * WORDS);
    this.#mask = slots - 1;
  }

  get size(): number {
    return this.#size;
  }

  /** Bytes held for the fingerprints. */
  get bytes(): number {
    return this.#slots.byteLength;
  }

  /** Records `id`; false when it was recorded already. */
  add(id: string): boolean {
    const digest = createHash('md5').update(id).digest();
    // An all-zero slot is empty: a digest of four zero words (never seen in practice) is nudged.
    const a = digest.readUInt32LE(0) || 1;
    const b = digest.readUInt32LE(4);
    const c = digest.readUInt32LE(8);
    const d = digest.readUInt32LE(12);
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#grow();
    return this.#insert(a, b, c, d);
  }

  #insert(a: number, b: number, c: number, d: number): boolean {
    const slots = this.#slots;
    for (let slot = b & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const at = slot * WORDS;
      if (slots[at] === 0) {
        slots[at] = a;
        slots[at + 1] = b;
        slots[at + 2] = c;
        slots[at + 3] = d;
        this.#size += 1;
        return true;
      }
      if (slots[at] === a && slots[at + 1] === b && slots[at + 2] === c && slots[at + 3] === d) return false;
    }
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Uint32Array(old.length * 2);
    this.#mask = (this.#slots.length / WORDS) - 1;
    this.#size = 0;
    for (let at = 0; at < old.length; at += WORDS) {
      if (old[at] !== 0) this.#insert(old[at]!, old[at + 1]!, old[at + 2]!, old[at + 3]!);
    }
  }
}
