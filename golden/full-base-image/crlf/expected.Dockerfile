FROM ruby:3.3-slim
COPY app.rb .
CMD ["ruby", "app.rb"]
