document.querySelectorAll('nav a').forEach(function (a) {
  if (a.getAttribute('href') === location.pathname) a.classList.add('here');
});
