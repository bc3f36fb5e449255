'use strict';

const http = require('http');
const crypto = require('crypto');
const zlib = require('zlib');

function reply(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
  res.end(data);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/') {
    reply(res, 200, { service: 'quotes', endpoints: ['/quote?n=N', '/digest?text=T'] });
  } else if (url.pathname === '/quote') {
    const quotes = require('./lib/quotes');
    reply(res, 200, { quote: quotes.pick(Number(url.searchParams.get('n') || 0)) });
  } else if (url.pathname === '/digest') {
    const text = url.searchParams.get('text') || '';
    const sha256 = crypto.createHash('sha256').update(text).digest('hex');
    const deflated = zlib.deflateSync(Buffer.from(text)).length;
    reply(res, 200, { text, sha256, deflated });
  } else {
    reply(res, 404, { error: 'not found' });
  }
});

server.listen(3000, '0.0.0.0', () => console.log('listening on :3000'));
