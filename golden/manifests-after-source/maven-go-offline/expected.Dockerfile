FROM maven:3.9-eclipse-temurin-21 AS build
WORKDIR /build
COPY pom.xml .
RUN mvn -B dependency:go-offline
COPY . .
RUN mvn -B -DskipTests package

FROM eclipse-temurin:21-jre
COPY --from=build /build/target/app.jar /app.jar
CMD ["java", "-jar", "/app.jar"]
