// Buttons marked data-print open the browser's print dialog (the page has its own print stylesheet).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});
