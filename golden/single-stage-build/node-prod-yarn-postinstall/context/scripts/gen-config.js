require('fs').writeFileSync('config.json', '{}')
