'use strict';

// Loaded on the first request to /quote, not at start-up.
const QUOTES = [
  'Simplicity is prerequisite for reliability.',
  'Make it work, make it right, make it fast.',
  'Small is beautiful.',
];

module.exports = { pick: (n) => QUOTES[n % QUOTES.length] };
