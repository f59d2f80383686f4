FROM ruby:3.3
COPY Gemfile Gemfile.lock .ruby-version /app/
WORKDIR /app
RUN bundle config set --local without development && \
    bundle install
COPY . /app
CMD ["bundle", "exec", "puma"]
