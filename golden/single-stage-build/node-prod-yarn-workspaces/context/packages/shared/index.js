module.exports = { name: 'shared' };
