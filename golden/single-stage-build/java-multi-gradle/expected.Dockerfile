FROM gradle:8.5-jdk21 AS build
WORKDIR /home/gradle/src
COPY . .
RUN gradle :services:api:bootJar --no-daemon

FROM eclipse-temurin:21-jre
WORKDIR /home/gradle/src
COPY --from=build /home/gradle/src/services/api/build/libs/api-2.0.jar /home/gradle/src/services/api/build/libs/api-2.0.jar
EXPOSE 8080
CMD ["java", "-jar", "services/api/build/libs/api-2.0.jar"]
