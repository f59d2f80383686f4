# Build and run the demo service
FROM maven:3.9.6-eclipse-temurin-17 AS build
ARG BUILD_ID=local
LABEL org.opencontainers.image.revision=$BUILD_ID
ENV MAVEN_OPTS="-Xmx1g"
WORKDIR /usr/src/app
COPY pom.xml .
RUN mvn -B dependency:go-offline
COPY src ./src
RUN mvn -B package -DskipTests

FROM eclipse-temurin:17-jre
ARG BUILD_ID=local
WORKDIR /usr/src/app
ENV JAVA_OPTS="-XX:MaxRAMPercentage=75"
COPY --from=build /usr/src/app/target/demo-service.jar /usr/src/app/target/demo-service.jar
LABEL org.opencontainers.image.revision=$BUILD_ID
EXPOSE 8080
# JAVA_OPTS is expanded by the shell
CMD java $JAVA_OPTS -jar target/demo-service.jar
