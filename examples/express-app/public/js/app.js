document.addEventListener('DOMContentLoaded', function () {
  var price = document.querySelector('.price');
  if (price) price.title = 'VAT included';
});
