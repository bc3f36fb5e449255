'use strict';
// A small bookshop. Express and EJS come from Debian's node-express and node-ejs packages
// (found on node's global path /usr/share/nodejs).
const path = require('path');
const express = require('express');

const BOOKS = [
  { id: 1, title: 'The Left Hand of Darkness', author: 'Ursula K. Le Guin', price: 950 },
  { id: 2, title: 'Solaris', author: 'Stanislaw Lem', price: 1275 },
  { id: 3, title: 'Kindred', author: 'Octavia E. Butler', price: 1099 },
];

const app = express();
app.set('views', path.join(__dirname, 'views'));
app.set('view engine', 'ejs'); // express require()s ejs on the first render
app.set('etag', false);
app.use(express.static(path.join(__dirname, 'public')));

app.get('/', (req, res) => {
  const items = BOOKS.map((b) => `<li><a href="/books/${b.id}">${b.title}</a></li>`).join('');
  res.type('html').send(`<!doctype html><title>Bookshop</title>`
    + `<link rel="stylesheet" href="/css/site.css"><h1>Bookshop</h1><ul>${items}</ul>\n`);
});

app.get('/api/books', (req, res) => {
  res.json({ count: BOOKS.length, books: BOOKS });
});

app.get('/books/:id', (req, res) => {
  const book = BOOKS.find((b) => String(b.id) === req.params.id);
  if (!book) return res.status(404).send('no such book\n');
  return res.render('book', { book });
});

app.get('/invoice/:id', (req, res) => {
  const invoice = require('./lib/invoice.js'); // lazy: loaded on the first invoice
  const book = BOOKS.find((b) => String(b.id) === req.params.id);
  if (!book) return res.status(404).send('no such book\n');
  return res.type('text/plain').send(invoice.render(book, 2));
});

app.get('/catalog.json.gz', (req, res) => {
  const zlib = require('zlib'); // lazy: only this route compresses
  res.type('application/gzip').send(zlib.gzipSync(JSON.stringify(BOOKS)));
});

app.listen(3000, '0.0.0.0', () => console.log('listening on :3000'));
