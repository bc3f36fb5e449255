# Render a small order summary with the standard library.
require 'json'
require 'set'
require 'time'
require 'digest'
require 'erb'

orders = JSON.parse('[{"item":"tea","qty":2,"price":3.5},{"item":"cake","qty":1,"price":4.25},{"item":"tea","qty":1,"price":3.5}]')
items = orders.map { |o| o['item'] }.to_set
total = orders.sum { |o| o['qty'] * o['price'] }
placed = Time.iso8601('2024-06-01T12:00:00Z')

template = ERB.new("<%= items.size %> distinct items, total <%= format('%.2f', total) %>, placed <%= placed.strftime('%A %d %B %Y') %>")
puts template.result(binding)
puts "digest #{Digest::SHA256.hexdigest(orders.to_json)[0, 16]}"
