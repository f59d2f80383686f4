module.exports = { output: "export" };
