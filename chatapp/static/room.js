// The room page: Enter sends, every (re)connect resumes, and the reader keeps their place.
(function () {
  "use strict";
  var room = document.querySelector("[ws-connect]");
  var messages = document.getElementById("messages");
  var newBelow = document.getElementById("new-below");
  if (!room || !messages) return;
  var wasAtBottom = true;
  var keptAtBottom = true;
  var heightBefore = 0;
  var socket = null;
  var lastRead = 0;
  var lastTyping = 0;
  var typingTimer = null;

  var arriving = [];

  function messageId(element) {
    return element.tagName === "ARTICLE" && element.id.slice(0, 4) === "msg-"
      ? parseInt(element.id.slice(4), 10)
      : 0;
  }
  function previousMessage(element) {
    var before = element.previousElementSibling;
    while (before && !messageId(before)) before = before.previousElementSibling;
    return before;
  }
  // Messages are kept in id order, so the last one is the newest the page holds.
  function lastMessageId() {
    var last = messages.lastElementChild;
    if (last && !messageId(last)) last = previousMessage(last);
    return last ? messageId(last) : 0;
  }

  // New messages may come out of order (a resume overtaken by live ones, two servers):
  // one the page shows already is dropped, the others are moved up into their place.
  document.body.addEventListener("htmx:oobBeforeSwap", function (event) {
    var incoming = event.detail.fragment;
    if (event.detail.target !== messages || !incoming.hasAttribute("data-new-messages")) return;
    Array.from(incoming.children).forEach(function (element) {
      if (!messageId(element)) return;
      if (document.getElementById(element.id)) element.remove();
      else arriving.push(element);
    });
  });
  function placeArrivals() {
    arriving.forEach(function (article) {
      var id = messageId(article);
      var anchor = null;
      var before = previousMessage(article);
      while (before && messageId(before) > id) {
        anchor = before;
        before = previousMessage(before);
      }
      if (anchor) messages.insertBefore(article, anchor);
    });
    arriving = [];
  }
  function atBottom() {
    return messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
  }
  function toBottom() {
    messages.scrollTop = messages.scrollHeight;
    newBelow.hidden = true;
  }

  // Ask for what was said while this page was not connected, before anything queued.
  room.addEventListener("htmx:wsOpen", function (event) {
    socket = event.detail.socketWrapper;
    var resume = JSON.stringify({ type: "resume", after: lastMessageId() });
    socket.sendImmediately(resume);
    markRead();
  });

  // What is on screen at the bottom of a visible page counts as read.
  function markRead() {
    var last = lastMessageId();
    if (!socket || last <= lastRead || document.hidden || !atBottom()) return;
    lastRead = last;
    socket.send(JSON.stringify({ type: "read", id: last }));
  }
  document.addEventListener("visibilitychange", markRead);

  // Others see "is typing", at most every few seconds.
  room.addEventListener("input", function (event) {
    if (!socket || event.target.id !== "composer-body" || Date.now() - lastTyping < 3000) return;
    lastTyping = Date.now();
    socket.send(JSON.stringify({ type: "typing" }));
  });

  // New messages never pull a reader who scrolled up; a button offers the way down.
  room.addEventListener("htmx:wsBeforeMessage", function () {
    wasAtBottom = atBottom();
    heightBefore = messages.scrollHeight;
  });
  room.addEventListener("htmx:wsAfterMessage", function () {
    placeArrivals();
    if (wasAtBottom) toBottom();
    else if (messages.scrollHeight > heightBefore) newBelow.hidden = false;
    markRead();
  });
  messages.addEventListener("scroll", function () {
    keptAtBottom = atBottom();
    if (!keptAtBottom) return;
    newBelow.hidden = true;
    markRead();
  });
  // A list that shrinks, as when an on-screen keyboard opens, keeps the latest in view.
  new ResizeObserver(function () {
    if (keptAtBottom) toBottom();
  }).observe(messages);
  newBelow.addEventListener("click", toBottom);

  // Earlier messages go in above: keep the one being read where it was.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target.id !== "earlier") return;
    var height = messages.scrollHeight;
    requestAnimationFrame(function () {
      messages.scrollTop += messages.scrollHeight - height;
    });
  });

  // Enter sends, Shift+Enter starts a new line, and an empty message is not sent.
  room.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    if (field.tagName !== "TEXTAREA" || !field.form || !field.form.hasAttribute("ws-send")) return;
    event.preventDefault();
    if (field.value.trim()) field.form.requestSubmit();
  });

  // A sent message leaves its form empty; a refused one comes back into the composer.
  room.addEventListener("htmx:wsAfterSend", function (event) {
    var form = event.target.closest("form");
    form.reset();
    var details = form.closest("details");
    if (details) details.open = false;
  });
  document.body.addEventListener("htmx:oobAfterSwap", function (event) {
    var id = event.detail.target.id;
    if (id === "composer-body") document.getElementById(id).focus();
    if (id === "room-moved") location.replace(document.getElementById(id).dataset.url);
    if (id === "typing") {
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () {
        document.getElementById("typing").textContent = "";
      }, 5000);
    }
  });

  toBottom();
})();
