import type { RequestHandler } from 'express';

/**
 * Cuts off a request whose body trickles: when the socket has received nothing for `idleMs` while the body
 * is incomplete, the request is answered 408 (when still possible) and its socket destroyed. It watches the
 * socket's byte count instead of listening for 'data', so the body still reaches its parser untouched.
 */
export function slowBodyGuard(idleMs: number, checkEveryMs = Math.min(1000, idleMs)): RequestHandler {
  return (req, res, next) => {
    const hasBody =
      Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) return next();
    let lastBytes = req.socket.bytesRead;
    let lastProgress = Date.now();
    const timer = setInterval(() => {
      if (req.complete || req.destroyed) return clearInterval(timer);
      const bytes = req.socket.bytesRead;
      if (bytes !== lastBytes) {
        lastBytes = bytes;
        lastProgress = Date.now();
        return;
      }
      if (Date.now() - lastProgress < idleMs) return;
      clearInterval(timer);
      req.log?.warn({ idle_ms: idleMs, bytes_read: bytes }, 'request body stalled: cut off');
      if (!res.headersSent) {
        res
          .status(408)
          .set('Connection', 'close')
          .type('application/problem+json')
          .json({
            type: 'about:blank',
            title: 'Request Timeout',
            status: 408,
            code: 'body_timeout',
            detail: `The request body stalled for ${Math.round(idleMs / 1000)} s and was cut off.`,
          });
      }
      setImmediate(() => req.socket.destroy());
    }, checkEveryMs);
    timer.unref();
    res.once('close', () => clearInterval(timer));
    next();
  };
}
