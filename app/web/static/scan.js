// Camera scanning where the browser offers BarcodeDetector; otherwise the photo upload form stays.
(function () {
  "use strict";
  var camera = document.getElementById("camera");
  var noCamera = document.getElementById("no-camera");
  var hasDetector = "BarcodeDetector" in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia;
  if (!hasDetector) { noCamera.hidden = false; return; }
  camera.hidden = false;

  function open(text) {
    // Our codes are URLs <host>/v/<payload>?s=<signature>: open the same path on this gateway.
    try {
      var url = new URL(text);
      var match = url.pathname.match(/\/v\/[A-Za-z0-9_-]+\/?$/);
      if (match && url.searchParams.get("s")) {
        window.location.assign(match[0] + "?s=" + encodeURIComponent(url.searchParams.get("s")));
        return true;
      }
    } catch (e) { /* not a URL */ }
    var dot = text.indexOf(".");
    if (dot > 0) {
      window.location.assign("/v/" + text.slice(0, dot) + "?s=" + encodeURIComponent(text.slice(dot + 1)));
      return true;
    }
    return false;
  }

  document.getElementById("start-camera").addEventListener("click", function () {
    var video = document.getElementById("preview");
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream;
      video.hidden = false;
      video.play();
      var tick = function () {
        detector.detect(video).then(function (codes) {
          for (var i = 0; i < codes.length; i++) {
            if (open(codes[i].rawValue)) { stream.getTracks().forEach(function (t) { t.stop(); }); return; }
          }
          window.requestAnimationFrame(tick);
        }).catch(function () { window.requestAnimationFrame(tick); });
      };
      tick();
    }).catch(function () { camera.hidden = true; noCamera.hidden = false; });
  });
})();
