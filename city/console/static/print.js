// The print button of the printable report: the browser's own print.
document.getElementById("print-now").addEventListener("click", function () { window.print(); });
