// The console's WebSocket: hello, replay from the last seen id after any reconnect, heartbeats.
// It asks for batch frames (batch=1): {type: 'batch', events: [...]} carries several events at
// once; control frames (hello, synced, ping, pong) still come alone.
export class LiveClient {
  constructor({ token, onEvent, onState, onHello, onAuthLost }) {
    this.token = token;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onHello = onHello;
    this.onAuthLost = onAuthLost;
    this.cursor = null; // the last event id accounted for; null until the first hello
    this.ws = null;
    this.retry = 0;
    this.heartbeatS = 20;
    this.lastMessage = 0;
    this.stopped = false;
    this.timer = null; // the pending reconnection after a close, if any
    this.watchdog = setInterval(() => this.check(), 1000);
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = null;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let url = `${proto}//${location.host}/ws?token=${encodeURIComponent(this.token)}&batch=1`;
    if (this.cursor !== null) url += `&since=${this.cursor}`;
    this.onState(this.cursor === null ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = (msg) => this.receive(JSON.parse(msg.data));
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (ev.code === 4401) { this.onState('offline'); this.onAuthLost(); return; }
      this.onState('reconnecting');
      // Back off gently: a phone on a weak network should not hammer the server.
      const delay = Math.min(5000, 300 * 2 ** this.retry++);
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }

  receive(msg) {
    this.lastMessage = Date.now();
    switch (msg.type) {
      case 'hello':
        this.retry = 0;
        this.heartbeatS = msg.heartbeat_s || 20;
        this.cursor = msg.cursor;
        this.onState('live');
        this.onHello(msg);
        return;
      case 'ping':
        this.send({ type: 'pong' });
        return;
      case 'pong':
      case 'synced':
        return;
      case 'batch':
        // Each event exactly as if it had come in its own frame, in order.
        for (const ev of msg.events || []) this.event(ev);
        return;
      default:
        this.event(msg);
    }
  }

  event(msg) {
    if (typeof msg.id === 'number') {
      if (this.cursor !== null && msg.id <= this.cursor) return; // never apply twice
      this.cursor = msg.id;
    }
    this.onEvent(msg);
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
  }

  // A connection that went silent (no ping for 2.5 heartbeats) is dead even if the socket
  // has not noticed: drop it and reconnect with since=<cursor>.
  check() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - this.lastMessage > this.heartbeatS * 2500) {
      const ws = this.ws;
      ws.onclose({ code: 4408 });
      ws.close();
    }
  }

  // The network is back (the browser's 'online'): a socket that lived through the outage may be
  // half dead and would only be noticed after heartbeats; start afresh now with since=<cursor>,
  // so the officer sees "Live" again and what was missed is replayed at once.
  reconnectNow() {
    if (this.stopped) return;
    const ws = this.ws;
    this.ws = null;
    if (ws) { ws.onclose = null; ws.close(); }
    this.retry = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearInterval(this.watchdog);
    clearTimeout(this.timer);
    if (this.ws) { const ws = this.ws; this.ws = null; ws.close(); }
  }
}
