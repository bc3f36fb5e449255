'use strict';
// Formats a plain-text invoice; the server requires this module only when an invoice is asked for.
const VAT_PERCENT = 7;

function money(cents) {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

function render(book, quantity) {
  const net = book.price * quantity;
  const vat = Math.round((net * VAT_PERCENT) / 100);
  return [
    `INVOICE #${1000 + book.id}`,
    `${quantity} x ${book.title} (${book.author}) @ ${money(book.price)}`,
    `net   ${money(net)}`,
    `vat   ${money(vat)} (${VAT_PERCENT}%)`,
    `total ${money(net + vat)}`,
    '',
  ].join('\n');
}

module.exports = { render, money };
