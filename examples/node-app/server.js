const express = require("express");

const app = express();
const port = process.env.PORT || 3000;

app.get("/", (req, res) => {
  res.send("Hello from node-app\n");
});

app.listen(port, () => {
  console.log(`node-app listening on port ${port}`);
});
