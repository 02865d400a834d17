// Every page: the tab title carries the number of unread messages, updated live.
(function () {
  "use strict";
  var baseTitle = document.title;
  function showUnread() {
    var total = document.getElementById("unread-total");
    var count = total ? parseInt(total.dataset.count, 10) || 0 : 0;
    document.title = count ? "(" + count + ") " + baseTitle : baseTitle;
  }
  document.addEventListener("DOMContentLoaded", showUnread);
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail.target.id === "unread-total") showUnread();
  });
})();
