type Listener = (event: { data?: string; lastEventId?: string; type: string }) => void;

/**
 * A minimal EventSource over fetch (Node 20 and happy-dom have none): enough for tRPC's
 * httpSubscriptionLink in tests. Named events, `data:` lines, `id:`; the stream's end or a
 * failed request closes it with an `error` event (no automatic reconnect).
 * Records every `data:` payload in `received` so tests can check what the server streamed.
 */
export function createFetchEventSource(fetchImpl: typeof fetch, received: string[] = []) {
  return class FetchEventSource {
    static readonly CONNECTING = 0;
    static readonly OPEN = 1;
    static readonly CLOSED = 2;
    readonly CONNECTING = 0;
    readonly OPEN = 1;
    readonly CLOSED = 2;
    readyState = 0;
    readonly url: string;
    readonly withCredentials = true;
    #listeners = new Map<string, Set<Listener>>();
    #abort = new AbortController();

    constructor(url: string | URL) {
      this.url = String(url);
      void this.#run();
    }

    addEventListener(type: string, listener: Listener): void {
      let set = this.#listeners.get(type);
      if (!set) this.#listeners.set(type, (set = new Set()));
      set.add(listener);
    }

    removeEventListener(type: string, listener: Listener): void {
      this.#listeners.get(type)?.delete(listener);
    }

    close(): void {
      this.readyState = 2;
      // Abort, not reader.cancel(): happy-dom's body stream throws on cancel mid-stream.
      this.#abort.abort();
    }

    #dispatch(type: string, data?: string, lastEventId?: string): void {
      for (const listener of [...(this.#listeners.get(type) ?? [])]) listener({ type, data, lastEventId });
    }

    async #run(): Promise<void> {
      try {
        const response = await fetchImpl(this.url, { headers: { accept: 'text/event-stream' }, signal: this.#abort.signal });
        if (!response.ok || !response.body) throw new Error(`SSE request failed: ${response.status}`);
        this.readyState = 1;
        this.#dispatch('open');
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        let type = 'message';
        let data: string[] = [];
        let id: string | undefined;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let newline: number;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, newline).replace(/\r$/, '');
            buffer = buffer.slice(newline + 1);
            if (line === '') {
              if (data.length > 0 || type !== 'message') {
                const payload = data.join('\n');
                if (type === 'message') received.push(payload);
                if (this.readyState !== 2) this.#dispatch(type, payload, id);
              }
              type = 'message';
              data = [];
              continue;
            }
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') type = text;
            else if (field === 'data') data.push(text);
            else if (field === 'id') id = text;
          }
        }
        if (this.readyState !== 2) {
          this.readyState = 2;
          this.#dispatch('error');
        }
      } catch {
        if (this.readyState === 2) return;
        this.readyState = 2;
        this.#dispatch('error');
      }
    }
  };
}
