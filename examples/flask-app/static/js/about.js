document.querySelectorAll(".person").forEach(function (li) {
  li.title = "Ask me about " + li.textContent.split(",")[0];
});
