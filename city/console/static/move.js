// Moving a program's block on the week view: drag it to another day or
// hour (pointer events: mouse, pen and touch). On release a plain form is
// posted to /schedule/{ward}/program/move, the server checks the move like
// the program form, and answers with the week or with the form showing the
// error. Without JavaScript (or on a narrow screen, where the week is a
// list) the program form's time field does the same.
(function () {
  var week = document.querySelector('.week[data-ward]');
  if (!week) return;
  var drag = null;
  function blocksAt(x, y) {
    var el = document.elementFromPoint(x, y);
    while (el && !(el.classList && el.classList.contains('blocks'))) el = el.parentNode;
    return el;
  }
  week.addEventListener('pointerdown', function (e) {
    var b = e.target.closest('.block[data-id]');
    if (!b || e.button !== 0) return;
    var list = b.parentNode;
    if (getComputedStyle(list).position !== 'relative') return; // the list layout: no hours to drop on
    var r = b.getBoundingClientRect();
    drag = { b: b, x: e.clientX, y: e.clientY, dy: e.clientY - r.top, moved: false };
    b.setPointerCapture(e.pointerId);
    e.preventDefault();
  });
  week.addEventListener('pointermove', function (e) {
    if (!drag) return;
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 6) return;
    drag.moved = true;
    drag.b.classList.add('dragging');
    drag.b.style.transform = 'translate(' + dx + 'px,' + dy + 'px)';
  });
  week.addEventListener('pointerup', function (e) {
    if (!drag) return;
    var d = drag;
    drag = null;
    d.b.style.transform = '';
    d.b.classList.remove('dragging');
    if (!d.moved) return;
    d.b.style.visibility = 'hidden';
    var list = blocksAt(e.clientX, e.clientY);
    d.b.style.visibility = '';
    if (!list || !list.dataset.date) return;
    var r = list.getBoundingClientRect();
    var min = Math.round((e.clientY - d.dy - r.top) / r.height * 1440 / 5) * 5;
    min = Math.max(0, Math.min(1435, min));
    var at = ('0' + Math.floor(min / 60)).slice(-2) + ':' + ('0' + (min % 60)).slice(-2);
    var f = document.createElement('form');
    f.method = 'post';
    f.action = '/schedule/' + encodeURIComponent(week.dataset.ward) + '/program/move';
    var v = { csrf: week.dataset.csrf, target: d.b.dataset.target, id: d.b.dataset.id, from: d.b.dataset.date, to: list.dataset.date, at: at };
    for (var k in v) {
      var i = document.createElement('input');
      i.type = 'hidden'; i.name = k; i.value = v[k];
      f.appendChild(i);
    }
    document.body.appendChild(f);
    f.submit();
  });
})();
