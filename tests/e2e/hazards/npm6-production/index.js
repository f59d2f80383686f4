const ms = require("ms");
console.log("ok " + ms(60000));
