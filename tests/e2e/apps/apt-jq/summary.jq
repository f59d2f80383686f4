# Orders per customer and the grand total.
(group_by(.customer) | map("\(.[0].customer): \(length) orders") | join(", "))
+ " | total \(map(.amount) | add)"
