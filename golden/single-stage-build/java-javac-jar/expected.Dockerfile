FROM openjdk:17-jdk-slim AS build
WORKDIR /opt/hello
COPY src src
RUN mkdir -p classes \
    && javac -d classes src/hello/*.java \
    && jar --create --file hello.jar --main-class hello.Hello -C classes .

FROM eclipse-temurin:17-jre
WORKDIR /opt/hello
COPY --from=build /opt/hello/hello.jar /opt/hello/hello.jar
CMD ["java", "-Xss512k", "-cp", "hello.jar", "hello.Hello"]
