FROM maven:3.8-jdk-11 AS build
COPY . /usr/src/app
RUN mvn -f /usr/src/app/pom.xml clean package

FROM eclipse-temurin:11-jre
COPY --from=build /usr/src/app/target/inventory-1.4.0.jar /usr/src/app/target/inventory-1.4.0.jar
ENTRYPOINT ["java", "-jar", "/usr/src/app/target/inventory-1.4.0.jar"]
CMD ["--server.port=8081"]
