// The owner's key, used on the owner's own device only: WebCrypto ECDSA P-256 / SHA-256 over the UTF-8
// bytes of a text (a consent document, a sign-in challenge). The key file is read here and never sent.
"use strict";
window.mledgerOwnerSign = (function () {
  function pemToDer(pem) {
    const body = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "").replace(/\s+/g, "");
    const raw = atob(body);
    const der = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) der[i] = raw.charCodeAt(i);
    return der.buffer;
  }

  return async function sign(keyInput, text) {
    const file = keyInput.files && keyInput.files[0];
    if (!file) throw new Error(keyInput.dataset.missing || "choose your key file");
    const pem = await file.text();
    if (pem.indexOf("BEGIN PRIVATE KEY") < 0) throw new Error(keyInput.dataset.format || "the key file must be PKCS#8 PEM");
    const key = await crypto.subtle.importKey("pkcs8", pemToDer(pem), { name: "ECDSA", namedCurve: "P-256" },
      false, ["sign"]);
    const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(text));
    return btoa(String.fromCharCode.apply(null, new Uint8Array(sig)));
  };
})();
